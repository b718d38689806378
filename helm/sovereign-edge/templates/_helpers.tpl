{{/*
Named templates shared by the chart's manifests. Everything is namespaced `sovereign-edge.`.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "sovereign-edge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* `<release>-<chart>` (or fullnameOverride), truncated to a 63-character DNS label. */}}
{{- define "sovereign-edge.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one component's objects: `<fullname>-<suffix>`, still within 63 characters. */}}
{{- define "sovereign-edge.componentName" -}}
{{- printf "%s-%s" (include "sovereign-edge.fullname" .root) .suffix | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sovereign-edge.accelName" -}}
{{- include "sovereign-edge.componentName" (dict "root" . "suffix" "accel") -}}
{{- end -}}

{{- define "sovereign-edge.configName" -}}
{{- include "sovereign-edge.componentName" (dict "root" . "suffix" "config") -}}
{{- end -}}

{{- define "sovereign-edge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The region and site, refused when missing even if schema validation is skipped. */}}
{{- define "sovereign-edge.region" -}}
{{- required "region is required: set region to the site's operator region, e.g. --set region=kr-seoul" .Values.region -}}
{{- end -}}

{{- define "sovereign-edge.siteId" -}}
{{- required "siteId is required: set siteId to the edge site's identifier, e.g. --set siteId=SEL-GN-0042" .Values.siteId -}}
{{- end -}}

{{/*
Labels of every object: the standard app.kubernetes.io set plus the site's region and id.
Call with (dict "root" $ "component" "accel") ; component may be empty.
*/}}
{{- define "sovereign-edge.labels" -}}
helm.sh/chart: {{ include "sovereign-edge.chart" .root }}
{{ include "sovereign-edge.podLabels" . }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{/*
Labels of pod templates: the selector labels plus region, site and the app version, but not the
chart version, so a chart-only upgrade does not roll pods.
*/}}
{{- define "sovereign-edge.podLabels" -}}
{{ include "sovereign-edge.selectorLabels" . }}
app.kubernetes.io/part-of: sovereign-edge
{{- with .root.Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
sovereign-edge.io/region: {{ include "sovereign-edge.region" .root | quote }}
sovereign-edge.io/site: {{ include "sovereign-edge.siteId" .root | quote }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Selector labels: stable for the life of a release (selectors are immutable), so no versions.
Call with (dict "root" $ "component" "pipeline" "pipeline" "kpi-anomaly"); both optional.
*/}}
{{- define "sovereign-edge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sovereign-edge.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- with .pipeline }}
sovereign-edge.io/pipeline: {{ . }}
{{- end }}
{{- end -}}

{{- define "sovereign-edge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sovereign-edge.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "sovereign-edge.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* gRPC target that resolves to every ready accelerator server of the site. */}}
{{- define "sovereign-edge.accelTargets" -}}
{{- printf "dns:///%s.%s.svc.%s:%d" (include "sovereign-edge.accelName" .) .Release.Namespace .Values.clusterDomain (int .Values.accel.port) -}}
{{- end -}}

{{/*
checksum/config of the ConfigMap, put on pod templates so that a settings change rolls the pods.
*/}}
{{- define "sovereign-edge.configChecksum" -}}
{{- include (print .Template.BasePath "/configmap.yaml") . | sha256sum -}}
{{- end -}}

{{/* Pod-level security context shared by every pod. */}}
{{- define "sovereign-edge.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container security context shared by every container; not configurable on purpose. */}}
{{- define "sovereign-edge.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
privileged: false
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Tolerations from a map keyed by taint key. */}}
{{- define "sovereign-edge.tolerations" -}}
{{- range $key, $toleration := . }}
- key: {{ $key | quote }}
  operator: {{ $toleration.operator | default "Exists" }}
  {{- with $toleration.value }}
  value: {{ . | quote }}
  {{- end }}
  {{- with $toleration.effect }}
  effect: {{ . }}
  {{- end }}
  {{- if hasKey $toleration "tolerationSeconds" }}
  tolerationSeconds: {{ $toleration.tolerationSeconds }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* The writable /tmp every container gets, since the root file system is read-only. */}}
{{- define "sovereign-edge.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end -}}

{{/* Mount paths of TLS material; the app reads the files named by the *_FILE settings. */}}
{{- define "sovereign-edge.kafkaTlsDir" -}}/etc/sovereign-edge/kafka-tls{{- end -}}
{{- define "sovereign-edge.accelTlsDir" -}}/etc/sovereign-edge/accel-tls{{- end -}}

{{/* Whether the Kafka protocol uses SASL / TLS. */}}
{{- define "sovereign-edge.kafkaSasl" -}}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol }}true{{ end -}}
{{- end -}}
{{- define "sovereign-edge.kafkaTls" -}}
{{- if has .Values.kafka.securityProtocol (list "SSL" "SASL_SSL") }}true{{ end -}}
{{- end -}}

{{/* Bearer-token env var from the auth Secret, under the given variable name. */}}
{{- define "sovereign-edge.authTokenEnv" -}}
{{- with .root.Values.accel.auth.existingSecret }}
- name: {{ $.name }}
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.root.Values.accel.auth.tokenKey }}
{{- end }}
{{- end -}}

{{/* Per-container env of the accelerator server: file paths of its TLS material and secrets. */}}
{{- define "sovereign-edge.accelEnv" -}}
{{- if .Values.accelTls.enabled }}
- name: ACCEL_TLS_CERT_FILE
  value: {{ printf "%s/%s" (include "sovereign-edge.accelTlsDir" .) .Values.accelTls.certKey }}
- name: ACCEL_TLS_KEY_FILE
  value: {{ printf "%s/%s" (include "sovereign-edge.accelTlsDir" .) .Values.accelTls.keyKey }}
- name: ACCEL_TLS_CLIENT_CA_FILE
  value: {{ printf "%s/%s" (include "sovereign-edge.accelTlsDir" .) .Values.accelTls.caKey }}
{{- end }}
{{- include "sovereign-edge.authTokenEnv" (dict "root" . "name" "ACCEL_AUTH_TOKEN") }}
{{- end -}}

{{/*
Per-container env of a pipeline: Kafka credentials from their Secret, file paths of the TLS
material mounted next to them, then the pipeline's own env map, which may override the
ConfigMap. Call with (dict "root" $ "pipeline" $p).
*/}}
{{- define "sovereign-edge.pipelineEnv" -}}
{{- $v := .root.Values -}}
{{- if include "sovereign-edge.kafkaSasl" .root }}
- name: EDGE_KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $v.kafka.sasl.existingSecret }}
      key: {{ $v.kafka.sasl.usernameKey }}
- name: EDGE_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $v.kafka.sasl.existingSecret }}
      key: {{ $v.kafka.sasl.passwordKey }}
{{- end }}
{{- if and (include "sovereign-edge.kafkaTls" .root) $v.kafka.tls.existingSecret }}
{{- $dir := include "sovereign-edge.kafkaTlsDir" .root }}
{{- with $v.kafka.tls.caKey }}
- name: EDGE_KAFKA_SSL_CAFILE
  value: {{ printf "%s/%s" $dir . }}
{{- end }}
{{- if $v.kafka.tls.certKey }}
- name: EDGE_KAFKA_SSL_CERTFILE
  value: {{ printf "%s/%s" $dir $v.kafka.tls.certKey }}
- name: EDGE_KAFKA_SSL_KEYFILE
  value: {{ printf "%s/%s" $dir $v.kafka.tls.keyKey }}
{{- end }}
{{- end }}
{{- if $v.accelTls.enabled }}
{{- $dir := include "sovereign-edge.accelTlsDir" .root }}
- name: EDGE_ACCEL_TLS_CA_FILE
  value: {{ printf "%s/%s" $dir $v.accelTls.caKey }}
- name: EDGE_ACCEL_TLS_CERT_FILE
  value: {{ printf "%s/%s" $dir $v.accelTls.certKey }}
- name: EDGE_ACCEL_TLS_KEY_FILE
  value: {{ printf "%s/%s" $dir $v.accelTls.keyKey }}
{{- end }}
{{- include "sovereign-edge.authTokenEnv" (dict "root" .root "name" "EDGE_ACCEL_AUTH_TOKEN") }}
{{- range $name, $value := .pipeline.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/*
The delivery mode and the consumer group one pipeline runs with, as its runtime picks them: its
env's PIPELINE_DELIVERY / PIPELINE_CONSUMER_GROUP when set, else pipelineDefaults.delivery /
`{region}.{pipeline}`. Call with (dict "root" $ "name" "kpi-anomaly" "pipeline" $p).
*/}}
{{- define "sovereign-edge.pipelineDelivery" -}}
{{- default .root.Values.pipelineDefaults.delivery (get (default (dict) .pipeline.env) "PIPELINE_DELIVERY") -}}
{{- end -}}

{{- define "sovereign-edge.consumerGroup" -}}
{{- default (printf "%s.%s" (include "sovereign-edge.region" .root) .name) (get (default (dict) .pipeline.env) "PIPELINE_CONSUMER_GROUP") -}}
{{- end -}}

{{/*
NetworkPolicy peers for one destination given as selectors and/or CIDRs. A selector peer is
written only from non-empty selectors, since an empty namespaceSelector matches every namespace.
*/}}
{{- define "sovereign-edge.egressPeers" -}}
{{- $peer := dict -}}
{{- with .namespaceSelector }}{{ $_ := set $peer "namespaceSelector" (dict "matchLabels" .) }}{{ end -}}
{{- with .podSelector }}{{ $_ := set $peer "podSelector" (dict "matchLabels" .) }}{{ end -}}
{{- $peers := list -}}
{{- if $peer }}{{ $peers = append $peers $peer }}{{ end -}}
{{- range $name, $cidr := .cidrs }}{{ $peers = append $peers (dict "ipBlock" (dict "cidr" $cidr)) }}{{ end -}}
{{- toYaml $peers -}}
{{- end -}}

{{/*
Egress rules both components need: the cluster DNS on port 53 (UDP and TCP) and, when traces
are exported over OTLP, the telemetry collector.
*/}}
{{- define "sovereign-edge.egressDnsAndTelemetry" -}}
{{- $np := .Values.networkPolicy -}}
- to:
    {{- include "sovereign-edge.egressPeers" $np.dns | nindent 4 }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- if eq .Values.telemetry.exporter "otlp" }}
- to:
    {{- include "sovereign-edge.egressPeers" $np.telemetry | nindent 4 }}
  ports:
    {{- range $np.telemetry.ports }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
{{- end }}
{{- end -}}
