"""VES 7.x, the event format of ONAP and O-RAN SC VES collectors: counters in (`perf3gpp`,
`measurement`) turned into `ran.cell_kpi.v1` samples for the KPI pipelines."""
