"""OAuth2 for API clients: client authentication, access tokens, and who is calling."""
