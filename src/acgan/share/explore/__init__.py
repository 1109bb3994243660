"""`acgan explore`: a local page for looking at a generator (server.py serves page.html and the images it asks for)."""
