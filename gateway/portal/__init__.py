"""The web portal: parents and children of 12 and older answer consent requests and see who
received what; privacy officers review the log. Dutch, server-rendered, usable without
JavaScript. Login is OpenID Connect (Authorization Code + PKCE) against a configurable provider;
``dev_oidc`` is a small provider for dev, demo and tests."""
