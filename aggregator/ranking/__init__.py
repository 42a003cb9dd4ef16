"""Ranking: which upcoming events matter to you, and who of your people will be there."""
