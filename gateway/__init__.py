"""kindkoppeling: a consent-mediated data-exchange gateway for Dutch children's services."""
