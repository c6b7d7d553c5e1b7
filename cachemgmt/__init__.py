"""pgGit cachemgmt: the two-level cache used by read endpoints, its statistics, warming and
invalidation."""
