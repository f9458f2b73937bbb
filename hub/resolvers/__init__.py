"""Queries, mutations and the per-request data loaders behind the GraphQL schema."""
