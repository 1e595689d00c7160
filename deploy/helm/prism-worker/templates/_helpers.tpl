{{/* Names and labels shared by every manifest of the chart. */}}
{{- define "prism-worker.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "prism-worker.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "prism-worker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "prism-worker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "prism-worker.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "prism-worker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "prism-worker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "prism-worker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Where the Temporal TLS Secret is mounted. */}}
{{- define "prism-worker.temporalTlsDir" -}}/etc/prism/temporal-tls{{- end }}

{{/*
The worker config: .Values.config with the settings the chart owns (the HTTP endpoint the probes
call, the shutdown times terminationGracePeriodSeconds is derived from, Temporal TLS files).
*/}}
{{- define "prism-worker.config" -}}
{{- $config := deepCopy .Values.config }}
{{- $worker := mustMergeOverwrite (deepCopy (default dict $config.worker)) (dict
  "http_host" "0.0.0.0"
  "http_port" (int .Values.httpPort)
  "shutdown_grace_time" (printf "%ds" (int .Values.shutdown.graceSeconds))
  "shutdown_force_time" (printf "%ds" (int .Values.shutdown.forceSeconds))) }}
{{- $_ := set $config "worker" $worker }}
{{- with .Values.temporalTls }}
{{- if .secretName }}
{{- $dir := include "prism-worker.temporalTlsDir" $ }}
{{- $tls := dict }}
{{- if .certKey }}
{{- $_ := set $tls "cert_file" (printf "%s/%s" $dir .certKey) }}
{{- $_ := set $tls "key_file" (printf "%s/%s" $dir .keyKey) }}
{{- end }}
{{- if .caKey }}{{ $_ := set $tls "ca_file" (printf "%s/%s" $dir .caKey) }}{{ end }}
{{- if .serverName }}{{ $_ := set $tls "server_name" .serverName }}{{ end }}
{{- $temporal := deepCopy (default dict $config.temporal) }}
{{- $_ := set $temporal "tls" $tls }}
{{- $_ := set $config "temporal" $temporal }}
{{- end }}
{{- end }}
{{- toYaml $config }}
{{- end }}
