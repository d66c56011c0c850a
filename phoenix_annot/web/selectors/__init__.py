"""One selector per screen: each reads what its page shows in a fixed, small number of queries."""
