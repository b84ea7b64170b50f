// Package dist finds the dstack executable built for a given platform, so
// that a server can hand its hosts an agent of its own version whatever it
// runs on itself: a server on macOS, or on amd64 with arm64 hosts, deploys
// linux/<arch> builds.
//
// A Locator tries, in order: the configured path or URL (which may name the
// platform with {os}, {arch} and {version}), the running executable when it
// is built for that platform, the copy cached in the server directory, and
// the release archive of the server's version (checked against the
// release's checksums.txt). What it fetches is cached; when nothing fits,
// the error names every place tried and why each did not.
package dist
