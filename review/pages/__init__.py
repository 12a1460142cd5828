"""One module per page type of the web application."""
