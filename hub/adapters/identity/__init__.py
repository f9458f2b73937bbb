"""Identity providers people sign in with: VNeID-style SSO and any OpenID provider."""
