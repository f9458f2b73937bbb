"""The GraphQL schema: strawberry types, assembled into :data:`hub.schema.api.schema`."""
