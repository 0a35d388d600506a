# rules for the evaluate stage (in progress)
