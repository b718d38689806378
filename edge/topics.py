"""Topic names: `{region}.{domain}.{stream}`, the region always first so that ACLs and
replication allow-lists can match by prefix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SiteTopics:
    """The topics of one region, e.g. `SiteTopics("kr-seoul").kpi == "kr-seoul.ran.kpi"`."""

    region: str

    def name(self, domain: str, stream: str) -> str:
        """The topic `{region}.{domain}.{stream}`."""
        return f"{self.region}.{domain}.{stream}"

    @property
    def kpi(self) -> str:
        return self.name("ran", "kpi")

    @property
    def kpi_scores(self) -> str:
        return self.name("ran", "kpi-scores")

    @property
    def anomalies(self) -> str:
        return self.name("ran", "anomalies")

    @property
    def son_energy(self) -> str:
        return self.name("son", "energy")

    @property
    def son_forecasts(self) -> str:
        return self.name("son", "forecasts")

    @property
    def cs_utterances(self) -> str:
        return self.name("cs", "utterances")

    @property
    def cs_insights(self) -> str:
        return self.name("cs", "insights")

    @property
    def fiber_das(self) -> str:
        return self.name("fiber", "das")

    @property
    def fiber_alerts(self) -> str:
        return self.name("fiber", "alerts")

    @property
    def ves_measurements(self) -> str:
        """VES 7.x `perf3gpp` and `measurement` events, as a site's VES collector publishes them
        (read by the KPI pipelines when `VES_KPI_TOPICS` names it)."""
        return self.name("ves", "measurements")

    @property
    def ves_faults(self) -> str:
        """The KPI anomaly pipeline's alarms as VES events, when `KPI_ANOMALY_VES_ALARMS_TOPIC` names it."""
        return self.name("ves", "faults")

    @property
    def alarms_open(self) -> str:
        """Compacted: the open alarms of the region keyed by `alarmId`, a tombstone once cleared."""
        return self.name("ran", "alarms-open")

    def state(self, pipeline: str) -> str:
        """Compacted: a pipeline's per-entity state, partitioned like its input."""
        return self.name("state", pipeline)

    @property
    def dlq(self) -> str:
        return f"{self.region}.dlq"

    @property
    def audit(self) -> str:
        return f"{self.region}.audit"

    def all(self) -> list[str]:
        """Every topic the embedded dev stack creates for this region."""
        return [
            self.kpi, self.kpi_scores, self.anomalies, self.son_energy, self.son_forecasts, self.cs_utterances,
            self.cs_insights, self.ves_measurements, self.ves_faults,
            self.fiber_das, self.fiber_alerts, self.dlq, self.audit,
        ]
