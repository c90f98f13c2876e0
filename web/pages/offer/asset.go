package offer

import "passerelle/web"

func assetURL(name string) string { return web.Asset(name) }
