"""newsbeam's command line, options and pipeline graph."""
