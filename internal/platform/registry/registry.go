// Package registry is the list of names domains declare to a shared part
// at start (audit actions, mail categories): each name once, read by any
// goroutine afterwards.
package registry

import (
	"fmt"
	"slices"
	"sync"
)

// Names is a list of declared values, each at most once.
type Names[T comparable] struct {
	mu   sync.Mutex
	what string // for the panic message: "audit action"
	list []T
}

// New returns an empty list of what.
func New[T comparable](what string) *Names[T] { return &Names[T]{what: what} }

// Declare adds v; declaring a value twice, or the zero value, is a
// programming error and panics at start.
func (n *Names[T]) Declare(v T) T {
	n.mu.Lock()
	defer n.mu.Unlock()
	var zero T
	if v == zero || slices.Contains(n.list, v) {
		panic(fmt.Sprintf("registry: %s %v empty or declared twice", n.what, v))
	}
	n.list = append(n.list, v)
	return v
}

// All lists the declared values in declaration order.
func (n *Names[T]) All() []T {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.list)
}

// Has reports whether v was declared.
func (n *Names[T]) Has(v T) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Contains(n.list, v)
}
