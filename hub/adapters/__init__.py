"""Adapters for every external system, one folder each, with its simulator."""
