"""What an evaluation shows a person: figures and image grids (figures.py), the HTML report (report.py) and
its pieces (html.py)."""
