"""Rich tables, tree text and Markdown for what the engine found."""
