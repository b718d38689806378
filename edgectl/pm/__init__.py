"""PM history replayed: 3GPP TS 32.435 measurement files read into cell samples and published
to the site's KPI topic (`edge import pm`)."""
