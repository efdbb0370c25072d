"""What a person reads: the grid as Markdown and HTML, from one view of it (:mod:`.view`)."""
