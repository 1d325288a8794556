package locale

// The words of the unsubscribe link's pages, which `serve` shows in the
// language of the digest the link came in, and of the reason a run skips
// an opted-out recipient. Keys as in unsubscribeES.

func unsubscribeES() map[string]string {
	return map[string]string{
		"unsubscribe.title":       "Darse de baja de %s",
		"unsubscribe.confirm":     "%s dejará de recibir el informe %s.",
		"unsubscribe.button":      "Darme de baja",
		"unsubscribe.done.title":  "Baja confirmada",
		"unsubscribe.done":        "%s ya no recibirá el informe %s. Para volver a recibirlo, pídeselo a quien administra los informes.",
		"unsubscribe.invalid":     "Este enlace de baja no es válido. Usa el enlace del último correo recibido.",
		"unsubscribe.unavailable": "No hemos podido registrar la baja ahora mismo. Vuelve a intentarlo en unos minutos.",
		"skip.unsubscribed":       "dado de baja",
	}
}

func unsubscribeEN() map[string]string {
	return map[string]string{
		"unsubscribe.title":       "Unsubscribe from %s",
		"unsubscribe.confirm":     "%s will no longer receive the report %s.",
		"unsubscribe.button":      "Unsubscribe",
		"unsubscribe.done.title":  "Unsubscribed",
		"unsubscribe.done":        "%s will no longer receive the report %s. To receive it again, ask whoever runs the reports.",
		"unsubscribe.invalid":     "This unsubscribe link is not valid. Use the link in the latest message you received.",
		"unsubscribe.unavailable": "The unsubscribe could not be recorded just now. Please try again in a few minutes.",
		"skip.unsubscribed":       "unsubscribed",
	}
}
