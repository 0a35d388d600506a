# rules for the train stage (in progress)
