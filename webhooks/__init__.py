"""pgGit webhooks: webhook endpoints, the event fan-out, signed delivery with retries and the
delivery worker."""
