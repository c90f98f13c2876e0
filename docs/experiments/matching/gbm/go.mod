module gbm

go 1.26
