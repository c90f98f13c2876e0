module rank

go 1.26
