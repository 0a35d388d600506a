# rules for the noise stage (in progress)
