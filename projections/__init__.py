"""Read models: projectors following the notification log, and the interfaces of their views."""
