# rules for the figures stage (in progress)
