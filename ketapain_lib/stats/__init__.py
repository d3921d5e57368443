"""Statistics: derivations, linear and logistic mixed models, descriptives, planning, power, sensitivity."""
