"""Frame engines: reading and writing tables with a dataframe library."""
