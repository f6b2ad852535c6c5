"""The story `make demo` plays: the whole promotion flow on the embedded AWS."""
