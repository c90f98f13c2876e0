module fit

go 1.26
