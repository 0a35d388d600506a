# rules for the grid stage (in progress)
