// tlogcheck: an outsider's check of a log served as C2SP tlog-tiles, with Go's
// golang.org/x/mod/sumdb (note and tlog), where the tile format comes from.
//
//	tlogcheck PREFIX VKEY [INDEX...]
//
// It fetches PREFIX/checkpoint, opens it with the note verifier key VKEY, and rebuilds the
// tree hash of its size from the tiles under PREFIX/tile/ alone (tlog.TileHashReader checks
// every tile it reads against the tree). For each INDEX it computes the inclusion proof from
// the tiles and checks it. Prints "OK size root" (and "inclusion INDEX LEAFHASH" lines) and
// exits 0, or prints the error and exits 1.
package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type tiles struct{ prefix string }

func (t tiles) Height() int { return 8 }

func (t tiles) ReadTiles(wanted []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(wanted))
	for i, tile := range wanted {
		// Go's paths name the height (tile/8/L/N); C2SP's leave it out (tile/L/N).
		path := "tile/" + strings.TrimPrefix(tile.Path(), "tile/8/")
		data, err := get(t.prefix + "/" + path)
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (t tiles) SaveTiles([]tlog.Tile, [][]byte) {}

func get(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

func run(prefix, vkey string, indexes []string) error {
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return err
	}
	signed, err := get(prefix + "/checkpoint")
	if err != nil {
		return err
	}
	opened, err := note.Open(signed, note.VerifierList(verifier))
	if err != nil {
		return err
	}
	lines := strings.Split(opened.Text, "\n")
	if len(lines) < 4 {
		return fmt.Errorf("malformed checkpoint")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return err
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return err
	}
	reader := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, tiles{prefix})
	rebuilt, err := tlog.TreeHash(size, reader)
	if err != nil {
		return err
	}
	if rebuilt != root {
		return fmt.Errorf("the tiles give root %s, the checkpoint says %s", rebuilt, root)
	}
	fmt.Printf("OK %d %s\n", size, base64.StdEncoding.EncodeToString(root[:]))
	for _, text := range indexes {
		index, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return err
		}
		proof, err := tlog.ProveRecord(size, index, reader)
		if err != nil {
			return err
		}
		leaf, err := reader.ReadHashes([]int64{tlog.StoredHashIndex(0, index)})
		if err != nil {
			return err
		}
		if err := tlog.CheckRecord(proof, size, root, index, leaf[0]); err != nil {
			return err
		}
		fmt.Printf("inclusion %d %s\n", index, base64.StdEncoding.EncodeToString(leaf[0][:]))
	}
	return nil
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: tlogcheck PREFIX VKEY [INDEX...]")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
