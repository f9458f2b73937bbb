"""Transcripts as records: assembled from the gradebook, rendered, moved through their lifecycle."""
