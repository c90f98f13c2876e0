// Package web holds the user interface: templ layouts, components and pages,
// and the static files (CSS, images) embedded in the binary.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"sync"
)

//go:embed static
var staticFS embed.FS

// Static is the static file tree, rooted so that "css/app.css" is a path in it.
func Static() fs.FS {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the folder is embedded: cannot fail
	}
	return sub
}

var (
	versionsOnce sync.Once
	versions     map[string]string
)

// Asset returns the URL of a static file with a content hash, so browsers
// may cache it for a year and still see every change.
func Asset(name string) string {
	versionsOnce.Do(func() {
		versions = map[string]string{}
		_ = fs.WalkDir(Static(), ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(Static(), p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			versions[p] = hex.EncodeToString(sum[:])[:12]
			return nil
		})
	})
	if v, ok := versions[name]; ok {
		return "/static/" + name + "?v=" + v
	}
	return "/static/" + name
}
