{{/* Chart name, cut to 63 characters (a DNS label). */}}
{{- define "lethe.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects. */}}
{{- define "lethe.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels that select Lethe's pods. */}}
{{- define "lethe.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lethe.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "lethe.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "lethe.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: pushgateway
app.kubernetes.io/part-of: lethe
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "lethe.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "lethe.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "lethe.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* "true" when leader election is on: `auto` turns it on for more than one replica. */}}
{{- define "lethe.leaderElection" -}}
{{- $mode := .Values.leaderElection.enabled }}
{{- if kindIs "bool" $mode }}
{{- ternary "true" "false" $mode }}
{{- else }}
{{- ternary "true" "false" (gt (int .Values.replicas) 1) }}
{{- end }}
{{- end }}

{{- define "lethe.leaseName" -}}
{{- default (include "lethe.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/* The route prefix Lethe serves under, as Lethe computes it from its flags: "" or "/path". */}}
{{- define "lethe.routePrefix" -}}
{{- $prefix := index .Values.flags "web.route-prefix" | default "" | toString }}
{{- $url := index .Values.flags "web.external-url" | default "" | toString }}
{{- if and (eq $prefix "") (ne $url "") }}
{{- $prefix = (urlParse $url).path }}
{{- end }}
{{- if and (ne $prefix "") (ne $prefix "/") }}
{{- printf "/%s" (trimPrefix "/" (trimSuffix "/" $prefix)) }}
{{- end }}
{{- end }}

{{/* Path of Lethe's scrape endpoint. */}}
{{- define "lethe.telemetryPath" -}}
{{- printf "%s%s" (include "lethe.routePrefix" .) (index .Values.flags "web.telemetry-path" | default "/metrics") }}
{{- end }}

{{/* One flag's value as a string: whole numbers without an exponent (YAML numbers are floats to Helm). */}}
{{- define "lethe.flagValue" -}}
{{- if kindIs "float64" . }}
{{- if eq (floor .) . }}{{ printf "%d" (int64 .) }}{{ else }}{{ . }}{{ end }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}
