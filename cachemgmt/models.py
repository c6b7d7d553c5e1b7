"""Models of the cachemgmt app."""
