"""Files: uploads, product images, review photos and the sweep of unused objects."""
