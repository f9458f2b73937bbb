"""The HTTP face of the hub: GraphQL, the OAuth2 token endpoint, health and metrics."""
