{{/*
Names and labels shared by every manifest. The chart keeps to a small template subset (values,
include, range, with, toYaml/nindent, printf, .Files.Get) so that tests/helm_chart_test.py can
render it without helm.
*/}}

{{- define "kaigo-bridge.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "kaigo-bridge.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kaigo-bridge.labels" -}}
{{ include "kaigo-bridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "kaigo-bridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ default (include "kaigo-bridge.fullname" .) .Values.serviceAccount.name }}
{{- else -}}
{{ default "default" .Values.serviceAccount.name }}
{{- end -}}
{{- end }}
