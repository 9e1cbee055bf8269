"""The read API: GET endpoints over the views."""
