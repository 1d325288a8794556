package workbook

import (
	"fmt"
	"strings"

	"github.com/sameteam/sameteam/internal/locale"
)

// words is the workbook's vocabulary in one language: sheet names, column
// headers, metric labels and definitions, and the words used inside cells.
// It is built per call so nothing in the package is shared mutable state.
type words struct {
	// Sheet names (at most 31 characters, none of : \ / ? * [ ]).
	sheetSummary, sheetTrend, sheetReps, sheetCampaigns, sheetRejections string
	sheetBacklog, sheetDetail, sheetHealth, sheetDefinitions             string

	// Summary.
	metric, change, components, componentsNote, generatedFor, asOf string
	points                                                         string // unit of a rate change: percentage points
	audience                                                       map[string]string

	// Trend.
	trendHeaders                               []string
	chartMQLs, chartRates, chartMoney, periodW string

	reps, campaigns, rejections, backlog, detail, health []string
	// Columns that only a working calendar fills, and the Campaigns
	// sheet's table of rejection reasons per campaign.
	repsWorking, detailWorking            string
	campaignRejections                    []string
	campaignRejectionsTitle, noRejections string

	// Values inside cells.
	source, sla, decision map[string]string
	yes, no, unspecified  string
	truncated             string

	// Definitions sheet.
	run, definition, runFields                    string
	reportName, kind, start, end, zone, asOfLabel string
	slaHours, currency, generatedAt               string
	// The SLA named in words ("24 hours", "8 working hours"), and the
	// working calendar's block of the Definitions sheet.
	slaLabel, slaWall, slaWorking                 string
	calendar, calendarZone, weeklyHours, holidays string
	noHours, noHolidays, calendarUnknown          string
	weekdays                                      [7]string // Sunday first, as time.Weekday
	kinds                                         map[string]string
	healthDefs                                    map[string]string

	// labels and defs are keyed by the metric's JSON path in the snapshot.
	labels map[string]string
	defs   map[string]string

	// Number-format fragments that differ by language.
	dateTime, date string
	subject        string // document subject, with %s for the period label
}

// vocabulary returns the words for locale ("en" or "es").
func vocabulary(locale string) (*words, error) {
	switch locale {
	case "en":
		return english(), nil
	case "es":
		return spanish(), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrLocale, locale)
}

func english() *words {
	loc := mustLocale("en")
	return &words{
		sheetSummary: "Summary", sheetTrend: "Trend", sheetReps: "Reps",
		sheetCampaigns: "Campaigns", sheetRejections: "Rejections",
		sheetBacklog: "Follow-up backlog", sheetDetail: "MQL detail",
		sheetHealth: "Data health", sheetDefinitions: "Definitions",

		metric: "Metric", change: "Change", components: "Alignment score components",
		componentsNote: "The score is 100 × the mean of the components that have a value.",
		generatedFor:   "Report for", asOf: "As of", points: "pp",
		audience: map[string]string{"leadership": "Leadership", "sales": "Sales", "marketing": "Marketing"},

		trendHeaders: []string{"Period", "MQLs", "SLA compliance", "Acceptance rate",
			"Pipeline created", "Pipeline created (marketing)", "Won revenue"},
		chartMQLs: "MQLs per period", chartRates: "SLA compliance and acceptance rate",
		chartMoney: "Pipeline and won revenue", periodW: "Period",

		reps: []string{"Rep id", "Name", "MQLs assigned", "SLA met", "SLA breached",
			"SLA pending", "SLA compliance", loc.T("metric.response_minutes_median"), "Accepted", "Rejected",
			"Sales activities", "Opportunities created", "Pipeline created", "Won deals", "Won revenue"},
		campaigns: []string{"Campaign id", "Name", "Channel", "Leads created", "MQLs",
			"Accepted", "Rejected", "Acceptance rate", "Opportunities created", "Pipeline created", "Won revenue", "Cost (lifetime)",
			"Lifetime MQLs", "Lifetime won revenue", "ROI"},
		rejections:  []string{"Reason", "MQLs rejected", "Share of rejections"},
		backlog:     []string{"Lead id", "Owner id", "Owner", "MQL time", "SLA due", "Age (h)", "SLA breached"},
		repsWorking: loc.T("metric.response_working_minutes_median"), detailWorking: "Working response (min)",
		campaignRejections:      []string{"Campaign id", "Campaign", "Rejection reason", "MQLs rejected"},
		campaignRejectionsTitle: "Rejections by campaign",
		noRejections:            "No MQL of the period was rejected.",
		detail: []string{"Lead id", "MQL time", "Source", "Owner id", "Owner", "Campaign id",
			"Campaign", "Response (min)", "SLA due", "SLA", "Decision", "Rejection reason", "SQL time"},
		health: []string{"Check", "Count or time", "What it means"},

		source:      map[string]string{"marketing": "marketing", "sales": "sales", "other": "other"},
		sla:         map[string]string{"met": "met", "breached": "breached", "pending": "pending"},
		decision:    map[string]string{"accepted": "accepted", "rejected": "rejected", "pending": "pending"},
		yes:         "yes",
		no:          "no",
		unspecified: "(unspecified)",
		truncated:   "… [truncated]",

		run: "This report", definition: "Definition", runFields: "Field",
		reportName: "Report", kind: "Period kind", start: "Period start",
		end: "Period end (exclusive)", zone: "Time zone", asOfLabel: "As of",
		slaHours: "SLA (hours)", currency: "Currency", generatedAt: "Generated at",
		slaLabel: "SLA", slaWall: "%s hours (wall-clock time)", slaWorking: "%s working hours, calendar %s",
		calendar: "Working calendar", calendarZone: "Calendar time zone", weeklyHours: "Working hours per week",
		holidays: "Holidays in the period", noHours: "not worked", noHolidays: "none",
		calendarUnknown: "(its hours are not known to this workbook)",
		weekdays:        [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		kinds:           map[string]string{"day": "day", "week": "week", "month": "month", "quarter": "quarter"},
		healthDefs: map[string]string{
			"leads_mql_before_created":      "Leads whose MQL time is before their creation time.",
			"activities_unknown_team":       "Activities in the period whose team is neither sales nor marketing.",
			"activities_unknown_lead":       "Activities in the period that name a lead that does not exist.",
			"opportunities_negative_amount": "Opportunities created in the period with a negative amount (counted as 0).",
			"future_activities_ignored":     "Activities stamped after the as-of time, ignored everywhere.",
			"latest_lead_created_at":        "The newest lead's creation time at or before the as-of time: how fresh the source is.",
			"latest_activity_at":            "The newest activity's time at or before the as-of time: how fresh the source is.",
		},

		labels: labels(loc),
		defs: map[string]string{
			"mql_cohort":                    "The MQLs of the period: leads whose MQL time falls in the period (and not after as of). Cohort metrics below refer to them.",
			"leads_created":                 "Leads created in the period, split by source (marketing, sales, other).",
			"mqls":                          "Number of MQLs in the period's cohort.",
			"mql_target":                    "The configured MQL target for this period kind; attainment = MQLs / target (empty without a target).",
			"unassigned_mqls":               "MQLs of the cohort without an owner.",
			"response_time":                 "First sales response to an MQL: the earliest sales activity on the lead, acceptance or rejection, at or after the MQL time and not after as of. Median and 90th percentile in minutes over MQLs with a response.",
			"sla_compliance":                "SLA due = MQL time + SLA hours. Met: responded by the due time. Breached: responded later, or no response and already due. Pending: no response, not yet due. Compliance = met / (met + breached).",
			"untouched_mqls":                "MQLs of the cohort with no sales response yet.",
			"decision":                      "The later of acceptance and rejection decides (same instant: accepted); neither: pending. Acceptance rate = accepted / (accepted + rejected); decision rate = (accepted + rejected) / MQLs.",
			"sqls":                          "Leads that became SQL in the period; MQL to SQL rate = cohort MQLs that are SQL by as of / MQLs.",
			"opportunities_created":         "Opportunities created in the period.",
			"pipeline_created.total":        "Sum of the amounts of opportunities created in the period, by source (empty or negative amounts count as 0).",
			"marketing_sourced_share":       "Marketing-sourced pipeline / total pipeline created.",
			"marketing_influenced_pipeline": "Pipeline created in the period with a marketing activity on the opportunity or its lead in the 90 days before the opportunity was created.",
			"won_deals":                     "Opportunities closed in the period: won and lost.",
			"won_revenue.total":             "Sum of the amounts of deals won in the period, by source.",
			"win_rate.total":                "Won / (won + lost) for deals closed in the period, by source.",
			"avg_deal_size":                 "Won revenue / won deals.",
			"sales_cycle_days_median":       "Median days from creation to close over deals won in the period.",
			"activities.sales":              "Activities in the period by team (sales, marketing, other).",
			"alignment_score":               "100 × the mean of the components that have a value: SLA compliance, acceptance rate, MQL target attainment capped at 100 %, decision rate. One decimal.",
			"roi":                           "(Lifetime won revenue − lifetime cost) / lifetime cost; empty without a cost.",
			"rejection_reasons":             "Rejected MQLs of the cohort by reason.",
			"followup_backlog":              "Leads that became MQL in the last 30 days before as of with no sales response yet: sales' to-do list, with the time each one's SLA runs out (SLA due).",
			"response_working_time":         "With a working calendar: the same first response, counted only in the calendar's working hours (nights, days off and holidays do not count). Median and 90th percentile in working minutes, next to the wall-clock ones.",
			"sla_working":                   "With a working calendar the SLA counts working hours: an MQL is due when SLA-hours of the calendar's working time have passed since its MQL time, so a lead that arrives on Friday evening falls due on the next working day, not on Saturday. Compliance, the trend and the backlog all use it.",
			"campaign_acceptance":           "For each campaign, its MQLs of the period that sales accepted and rejected; acceptance rate = accepted / (accepted + rejected), empty when sales decided on none. Rejections by campaign lists their reasons: marketing's feedback from sales, campaign by campaign.",
			"trend":                         "The same metrics for the 12 periods ending with this one, at the same as of.",
		},

		dateTime: "yyyy-mm-dd hh:mm",
		date:     "yyyy-mm-dd",
		subject:  "Sales and marketing alignment, %s",
	}
}

func spanish() *words {
	loc := mustLocale("es")
	return &words{
		sheetSummary: "Resumen", sheetTrend: "Tendencia", sheetReps: "Comerciales",
		sheetCampaigns: "Campañas", sheetRejections: "Rechazos",
		sheetBacklog: "Seguimiento pendiente", sheetDetail: "Detalle MQL",
		sheetHealth: "Calidad de datos", sheetDefinitions: "Definiciones",

		metric: "Métrica", change: "Variación", components: "Componentes de la puntuación de alineación",
		componentsNote: "La puntuación es 100 × la media de los componentes que tienen valor.",
		generatedFor:   "Informe para", asOf: "Datos a", points: "p. p.",
		audience: map[string]string{"leadership": "Dirección", "sales": "Equipo comercial", "marketing": "Equipo de marketing"},

		trendHeaders: []string{"Periodo", "MQL", "Cumplimiento del SLA", "Tasa de aceptación",
			"Pipeline generado", "Pipeline generado (marketing)", "Ingresos ganados"},
		chartMQLs: "MQL por periodo", chartRates: "Cumplimiento del SLA y tasa de aceptación",
		chartMoney: "Pipeline e ingresos ganados", periodW: "Periodo",

		reps: []string{"Id comercial", "Nombre", "MQL asignados", "SLA cumplido", "SLA incumplido",
			"SLA pendiente", "Cumplimiento del SLA", loc.T("metric.response_minutes_median"), "Aceptados", "Rechazados",
			"Actividades comerciales", "Oportunidades creadas", "Pipeline generado", "Operaciones ganadas", "Ingresos ganados"},
		campaigns: []string{"Id campaña", "Nombre", "Canal", "Leads creados", "MQL",
			"Aceptados", "Rechazados", "Tasa de aceptación", "Oportunidades creadas", "Pipeline generado", "Ingresos ganados", "Coste (histórico)",
			"MQL históricos", "Ingresos ganados históricos", "ROI"},
		rejections:  []string{"Motivo", "MQL rechazados", "Proporción de rechazos"},
		backlog:     []string{"Id lead", "Id responsable", "Responsable", "Fecha MQL", "Vencimiento del SLA", "Antigüedad (h)", "SLA incumplido"},
		repsWorking: loc.T("metric.response_working_minutes_median"), detailWorking: "Respuesta laborable (min)",
		campaignRejections:      []string{"Id campaña", "Campaña", "Motivo de rechazo", "MQL rechazados"},
		campaignRejectionsTitle: "Rechazos por campaña",
		noRejections:            "Ningún MQL del periodo fue rechazado.",
		detail: []string{"Id lead", "Fecha MQL", "Origen", "Id responsable", "Responsable", "Id campaña",
			"Campaña", "Respuesta (min)", "Vencimiento del SLA", "SLA", "Decisión", "Motivo de rechazo", "Fecha SQL"},
		health: []string{"Comprobación", "Recuento o fecha", "Qué significa"},

		source:      map[string]string{"marketing": "marketing", "sales": "ventas", "other": "otro"},
		sla:         map[string]string{"met": "cumplido", "breached": "incumplido", "pending": "pendiente"},
		decision:    map[string]string{"accepted": "aceptado", "rejected": "rechazado", "pending": "pendiente"},
		yes:         "sí",
		no:          "no",
		unspecified: "(sin especificar)",
		truncated:   "… [truncado]",

		run: "Este informe", definition: "Definición", runFields: "Campo",
		reportName: "Informe", kind: "Tipo de periodo", start: "Inicio del periodo",
		end: "Fin del periodo (excluido)", zone: "Zona horaria", asOfLabel: "Datos a",
		slaHours: "SLA (horas)", currency: "Moneda", generatedAt: "Generado el",
		slaLabel: "SLA", slaWall: "%s horas (tiempo de reloj)", slaWorking: "%s horas laborables, calendario %s",
		calendar: "Calendario laboral", calendarZone: "Zona horaria del calendario", weeklyHours: "Horas laborables por semana",
		holidays: "Festivos del periodo", noHours: "no laborable", noHolidays: "ninguno",
		calendarUnknown: "(este libro no conoce su horario)",
		weekdays:        [7]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"},
		kinds:           map[string]string{"day": "día", "week": "semana", "month": "mes", "quarter": "trimestre"},
		healthDefs: map[string]string{
			"leads_mql_before_created":      "Leads cuya fecha MQL es anterior a su fecha de creación.",
			"activities_unknown_team":       "Actividades del periodo cuyo equipo no es ni ventas ni marketing.",
			"activities_unknown_lead":       "Actividades del periodo que citan un lead inexistente.",
			"opportunities_negative_amount": "Oportunidades creadas en el periodo con importe negativo (cuentan como 0).",
			"future_activities_ignored":     "Actividades con fecha posterior al momento de los datos; se ignoran en todo el informe.",
			"latest_lead_created_at":        "Creación del lead más reciente hasta el momento de los datos: lo actualizada que está la fuente.",
			"latest_activity_at":            "La actividad más reciente hasta el momento de los datos: lo actualizada que está la fuente.",
		},

		labels: labels(loc),
		defs: map[string]string{
			"mql_cohort":                    "Los MQL del periodo: leads cuya fecha MQL cae en el periodo (y no después del momento de los datos). Las métricas de cohorte se refieren a ellos.",
			"leads_created":                 "Leads creados en el periodo, por origen (marketing, ventas, otros).",
			"mqls":                          "Número de MQL de la cohorte del periodo.",
			"mql_target":                    "Objetivo de MQL configurado para este tipo de periodo; cumplimiento = MQL / objetivo (vacío sin objetivo).",
			"unassigned_mqls":               "MQL de la cohorte sin responsable.",
			"response_time":                 "Primera respuesta comercial a un MQL: la primera actividad de ventas sobre el lead, la aceptación o el rechazo, en o después de la fecha MQL y no después del momento de los datos. Mediana y percentil 90 en minutos sobre los MQL con respuesta.",
			"sla_compliance":                "Vencimiento del SLA = fecha MQL + horas de SLA. Cumplido: respuesta antes del vencimiento. Incumplido: respuesta posterior, o sin respuesta y ya vencido. Pendiente: sin respuesta y aún no vencido. Cumplimiento = cumplidos / (cumplidos + incumplidos).",
			"untouched_mqls":                "MQL de la cohorte aún sin respuesta comercial.",
			"decision":                      "Decide la más reciente entre aceptación y rechazo (mismo instante: aceptado); ninguna: pendiente. Tasa de aceptación = aceptados / (aceptados + rechazados); tasa de decisión = (aceptados + rechazados) / MQL.",
			"sqls":                          "Leads que pasaron a SQL en el periodo; conversión de MQL a SQL = MQL de la cohorte que son SQL en el momento de los datos / MQL.",
			"opportunities_created":         "Oportunidades creadas en el periodo.",
			"pipeline_created.total":        "Suma de los importes de las oportunidades creadas en el periodo, por origen (importes vacíos o negativos cuentan como 0).",
			"marketing_sourced_share":       "Pipeline generado por marketing / pipeline generado total.",
			"marketing_influenced_pipeline": "Pipeline creado en el periodo con una actividad de marketing sobre la oportunidad o su lead en los 90 días anteriores a su creación.",
			"won_deals":                     "Oportunidades cerradas en el periodo: ganadas y perdidas.",
			"won_revenue.total":             "Suma de los importes de las operaciones ganadas en el periodo, por origen.",
			"win_rate.total":                "Ganadas / (ganadas + perdidas) entre las cerradas en el periodo, por origen.",
			"avg_deal_size":                 "Ingresos ganados / operaciones ganadas.",
			"sales_cycle_days_median":       "Mediana de días entre creación y cierre de las operaciones ganadas en el periodo.",
			"activities.sales":              "Actividades del periodo por equipo (ventas, marketing, otros).",
			"alignment_score":               "100 × la media de los componentes con valor: cumplimiento del SLA, tasa de aceptación, cumplimiento del objetivo de MQL (máximo 100 %) y tasa de decisión. Un decimal.",
			"roi":                           "(Ingresos ganados históricos − coste histórico) / coste histórico; vacío sin coste.",
			"rejection_reasons":             "MQL rechazados de la cohorte, por motivo.",
			"followup_backlog":              "Leads que pasaron a MQL en los 30 días anteriores al momento de los datos y aún sin respuesta comercial: la lista de tareas de ventas, con el momento en que vence el SLA de cada uno.",
			"response_working_time":         "Con calendario laboral: la misma primera respuesta, contando solo las horas laborables del calendario (noches, días no laborables y festivos no cuentan). Mediana y percentil 90 en minutos laborables, junto a los de tiempo de reloj.",
			"sla_working":                   "Con calendario laboral el SLA cuenta horas laborables: un MQL vence cuando han pasado las horas de SLA de tiempo laborable del calendario desde su fecha MQL, así que un lead que llega el viernes por la tarde vence el siguiente día laborable, no el sábado. El cumplimiento, la tendencia y el seguimiento pendiente lo usan.",
			"campaign_acceptance":           "Para cada campaña, sus MQL del periodo que ventas aceptó y rechazó; tasa de aceptación = aceptados / (aceptados + rechazados), vacía si ventas no decidió sobre ninguno. «Rechazos por campaña» lista sus motivos: el feedback de ventas a marketing, campaña a campaña.",
			"trend":                         "Las mismas métricas para los 12 periodos que terminan en este, con el mismo momento de los datos.",
		},

		dateTime: "dd/mm/yyyy hh:mm",
		date:     "dd/mm/yyyy",
		subject:  "Alineación de marketing y ventas, %s",
	}
}

// mustLocale is package locale's words for a tag this package names itself.
func mustLocale(tag string) *locale.Locale {
	l, err := locale.Get(tag)
	if err != nil {
		panic(err) // "en" and "es" are locale's own
	}
	return l
}

// labels are the workbook's names keyed by JSON path, from package locale:
// a headline metric's under its catalog label key (metric.<key>), the
// workbook's other terms under wb.label.<key>.
func labels(loc *locale.Locale) map[string]string {
	out := map[string]string{}
	for _, k := range loc.Keys() {
		if rest, ok := strings.CutPrefix(k, "metric."); ok {
			out[rest] = loc.T(k)
		} else if rest, ok := strings.CutPrefix(k, "wb.label."); ok {
			out[rest] = loc.T(k)
		}
	}
	return out
}
