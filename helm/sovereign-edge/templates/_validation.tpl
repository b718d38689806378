{{/*
Checks across values that the schema cannot express well; each failure names the value to set.
Included once, from configmap.yaml, which every install renders.
*/}}
{{- define "sovereign-edge.validate" -}}
{{- $v := .Values -}}
{{- if not $v.kafka.bootstrapServers -}}
{{- fail "kafka.bootstrapServers is required: list the region's Kafka brokers as host:port" -}}
{{- end -}}
{{- if and (include "sovereign-edge.kafkaSasl" .) (not $v.kafka.sasl.existingSecret) -}}
{{- fail (printf "kafka.sasl.existingSecret is required when kafka.securityProtocol is %s" $v.kafka.securityProtocol) -}}
{{- end -}}
{{- if and $v.kafka.tls.certKey (not $v.kafka.tls.keyKey) -}}
{{- fail "kafka.tls.keyKey is required when kafka.tls.certKey is set" -}}
{{- end -}}
{{- if and $v.kafka.tls.certKey (not $v.kafka.tls.existingSecret) -}}
{{- fail "kafka.tls.existingSecret is required when kafka.tls.certKey is set" -}}
{{- end -}}
{{- if $v.accelTls.enabled -}}
{{- if not $v.accelTls.serverSecret -}}
{{- fail "accelTls.serverSecret is required when accelTls.enabled is true" -}}
{{- end -}}
{{- if not $v.accelTls.clientSecret -}}
{{- fail "accelTls.clientSecret is required when accelTls.enabled is true" -}}
{{- end -}}
{{- if eq (int $v.accel.healthPort) (int $v.accel.port) -}}
{{- fail "accel.healthPort must differ from accel.port when accelTls.enabled is true" -}}
{{- end -}}
{{- end -}}
{{- $repo := $v.accel.modelRepository -}}
{{- if and (eq $repo.source "persistentVolumeClaim") (not $repo.claimName) -}}
{{- fail "accel.modelRepository.claimName is required when accel.modelRepository.source is persistentVolumeClaim" -}}
{{- end -}}
{{- if and (eq $repo.source "hostPath") (not $repo.hostPath) -}}
{{- fail "accel.modelRepository.hostPath is required when accel.modelRepository.source is hostPath" -}}
{{- end -}}
{{- if and (eq $v.telemetry.exporter "otlp") (not $v.telemetry.endpoint) -}}
{{- fail "telemetry.endpoint is required when telemetry.exporter is otlp" -}}
{{- end -}}
{{- if $v.networkPolicy.enabled -}}
{{- if not $v.networkPolicy.kafka.cidrs -}}
{{- fail "networkPolicy.kafka.cidrs is required when networkPolicy.enabled is true: the address ranges of the region's Kafka brokers" -}}
{{- end -}}
{{- $dns := $v.networkPolicy.dns -}}
{{- if not (or $dns.namespaceSelector $dns.podSelector $dns.cidrs) -}}
{{- fail "networkPolicy.dns needs a namespaceSelector, podSelector or cidrs: a rule with no destination would allow port 53 anywhere" -}}
{{- end -}}
{{- $t := $v.networkPolicy.telemetry -}}
{{- if and (eq $v.telemetry.exporter "otlp") (not (or $t.namespaceSelector $t.podSelector $t.cidrs)) -}}
{{- fail "networkPolicy.telemetry needs a namespaceSelector, podSelector or cidrs when telemetry.exporter is otlp" -}}
{{- end -}}
{{- end -}}
{{- range $name, $p := $v.pipelines -}}
{{- if and $p.enabled $p.lagScaling.enabled (gt (int $p.lagScaling.minReplicas) (int $p.lagScaling.maxReplicas)) -}}
{{- fail (printf "pipelines.%s.lagScaling.minReplicas must not exceed maxReplicas" $name) -}}
{{- end -}}
{{- if and $p.enabled $p.autoscaling.enabled -}}
{{- if gt (int $p.autoscaling.minReplicas) (int $p.autoscaling.maxReplicas) -}}
{{- fail (printf "pipelines.%s.autoscaling.minReplicas must not exceed maxReplicas" $name) -}}
{{- end -}}
{{- if not (dig "requests" "cpu" "" $p.resources) -}}
{{- fail (printf "pipelines.%s.resources.requests.cpu is required when its autoscaling is enabled" $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
