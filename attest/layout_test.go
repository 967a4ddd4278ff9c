package attest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	intoto "github.com/in-toto/in-toto-golang/in_toto"
)

// testKey makes an ed25519 key pair and returns the private and public
// in-toto keys and the path of the public PEM.
func testKey(t *testing.T, dir, name string) (priv, pub intoto.Key, pubPath string) {
	t.Helper()
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	skDER, _ := x509.MarshalPKCS8PrivateKey(sk)
	pkDER, _ := x509.MarshalPKIXPublicKey(pk)
	skPath, pubPath := filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	os.WriteFile(skPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: skDER}), 0o600)
	os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkDER}), 0o644)
	if err := priv.LoadKeyDefaults(skPath); err != nil {
		t.Fatal(err)
	}
	if err := pub.LoadKeyDefaults(pubPath); err != nil {
		t.Fatal(err)
	}
	return priv, pub, pubPath
}

type layoutFixture struct {
	dir, layoutPath, ownerPub, links string
	owner, trainer, packer           intoto.Key // private
	trainerPub, packerPub            intoto.Key
	layout                           intoto.Layout
}

// newLayoutFixture writes a two-step pipeline: "train" turns data into
// model.safetensors, "package" takes model.safetensors (which must MATCH
// train's product) and produces it unchanged plus config.json.
func newLayoutFixture(t *testing.T) *layoutFixture {
	t.Helper()
	f := &layoutFixture{dir: t.TempDir()}
	f.owner, _, f.ownerPub = testKey(t, f.dir, "owner")
	f.trainer, f.trainerPub, _ = testKey(t, f.dir, "trainer")
	f.packer, f.packerPub, _ = testKey(t, f.dir, "packer")
	f.links = filepath.Join(f.dir, "links")
	os.Mkdir(f.links, 0o755)
	f.layout = intoto.Layout{
		Type:    "layout",
		Expires: time.Now().Add(24 * time.Hour).UTC().Format(intoto.ISO8601DateSchema),
		Keys:    map[string]intoto.Key{f.trainerPub.KeyID: f.trainerPub, f.packerPub.KeyID: f.packerPub},
		Steps: []intoto.Step{
			{Type: "step", PubKeys: []string{f.trainerPub.KeyID}, Threshold: 1, ExpectedCommand: []string{"python", "train.py"},
				SupplyChainItem: intoto.SupplyChainItem{Name: "train",
					ExpectedMaterials: [][]string{{"ALLOW", "data/*"}, {"DISALLOW", "*"}},
					ExpectedProducts:  [][]string{{"CREATE", "model.safetensors"}, {"ALLOW", "data/*"}, {"DISALLOW", "*"}}}},
			{Type: "step", PubKeys: []string{f.packerPub.KeyID}, Threshold: 1, ExpectedCommand: []string{"package"},
				SupplyChainItem: intoto.SupplyChainItem{Name: "package",
					ExpectedMaterials: [][]string{{"MATCH", "model.safetensors", "WITH", "PRODUCTS", "FROM", "train"}, {"DISALLOW", "*"}},
					ExpectedProducts:  [][]string{{"MATCH", "model.safetensors", "WITH", "PRODUCTS", "FROM", "train"}, {"CREATE", "config.json"}, {"DISALLOW", "*"}}}},
		},
		Inspect: []intoto.Inspection{},
	}
	f.layoutPath = filepath.Join(f.dir, "root.layout")
	f.writeLayout(t)
	weights := map[string]string{"sha256": hexA}
	f.writeLink(t, f.trainer, "train", []string{"python", "train.py"},
		map[string]intoto.HashObj{"data/x.csv": {"sha256": hexC}},
		map[string]intoto.HashObj{"data/x.csv": {"sha256": hexC}, "model.safetensors": weights})
	f.writeLink(t, f.packer, "package", []string{"package"},
		map[string]intoto.HashObj{"model.safetensors": weights},
		map[string]intoto.HashObj{"model.safetensors": weights, "config.json": {"sha256": hexB}})
	return f
}

func (f *layoutFixture) writeLayout(t *testing.T) {
	t.Helper()
	mb := &intoto.Metablock{Signed: f.layout}
	if err := mb.Sign(f.owner); err != nil {
		t.Fatal(err)
	}
	if err := mb.Dump(f.layoutPath); err != nil {
		t.Fatal(err)
	}
}

func (f *layoutFixture) writeLink(t *testing.T, key intoto.Key, step string, cmd []string, mats, prods map[string]intoto.HashObj) {
	t.Helper()
	link := intoto.Link{Type: "link", Name: step, Command: cmd, Materials: mats, Products: prods, ByProducts: map[string]interface{}{}, Environment: map[string]interface{}{}}
	mb := &intoto.Metablock{Signed: link}
	if err := mb.Sign(key); err != nil {
		t.Fatal(err)
	}
	if err := mb.Dump(filepath.Join(f.links, fmt.Sprintf(intoto.LinkNameFormat, step, key.KeyID))); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyLayout(t *testing.T) {
	f := newLayoutFixture(t)
	res, err := VerifyLayout(f.layoutPath, []string{f.ownerPub}, f.links)
	if err != nil {
		t.Fatalf("valid pipeline refused: %v", err)
	}
	lines := strings.Join(res.Lines(), "\n")
	for _, want := range []string{`step "train": 1 of 1`, `step "package": 1 of 1`, "final product: model.safetensors (sha256:" + hexA, "final product: config.json"} {
		if !strings.Contains(lines, want) {
			t.Errorf("result lacks %q:\n%s", want, lines)
		}
	}
	if len(res.Warnings) != 0 {
		t.Errorf("unexpected warnings %v", res.Warnings)
	}
}

func TestVerifyLayoutRefusals(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(t *testing.T, f *layoutFixture) (keys []string)
		want   string
	}{
		{"layout signed by another key", func(t *testing.T, f *layoutFixture) []string {
			_, _, other := testKey(t, f.dir, "other")
			return []string{other}
		}, "not signed"},
		{"weights swapped between train and package (MATCH fails)", func(t *testing.T, f *layoutFixture) []string {
			f.writeLink(t, f.packer, "package", []string{"package"},
				map[string]intoto.HashObj{"model.safetensors": {"sha256": hexB}},
				map[string]intoto.HashObj{"model.safetensors": {"sha256": hexB}, "config.json": {"sha256": hexB}})
			return nil
		}, "artifact rules"},
		{"train link signed by the packer (unauthorized functionary)", func(t *testing.T, f *layoutFixture) []string {
			os.Remove(filepath.Join(f.links, fmt.Sprintf(intoto.LinkNameFormat, "train", f.trainer.KeyID)))
			f.writeLink(t, f.packer, "train", []string{"python", "train.py"}, map[string]intoto.HashObj{}, map[string]intoto.HashObj{"model.safetensors": {"sha256": hexA}})
			return nil
		}, "train"},
		{"missing link", func(t *testing.T, f *layoutFixture) []string {
			os.Remove(filepath.Join(f.links, fmt.Sprintf(intoto.LinkNameFormat, "package", f.packer.KeyID)))
			return nil
		}, `step "package" requires 1 link`},
		{"link renamed to stand for another step", func(t *testing.T, f *layoutFixture) []string {
			f.layout.Steps[1].PubKeys = append(f.layout.Steps[1].PubKeys, f.trainer.KeyID)
			f.writeLayout(t)
			f.writeLink(t, f.trainer, "train", []string{"python", "train.py"}, map[string]intoto.HashObj{}, map[string]intoto.HashObj{"model.safetensors": {"sha256": hexA}})
			old := filepath.Join(f.links, fmt.Sprintf(intoto.LinkNameFormat, "train", f.trainer.KeyID))
			b, _ := os.ReadFile(old)
			os.WriteFile(filepath.Join(f.links, fmt.Sprintf(intoto.LinkNameFormat, "package", f.trainer.KeyID)), b, 0o644)
			return nil
		}, "a link stands only for the step it names"},
		{"threshold zero", func(t *testing.T, f *layoutFixture) []string {
			f.layout.Steps[0].Threshold = 0
			f.writeLayout(t)
			return nil
		}, "threshold 0"},
		{"expired layout", func(t *testing.T, f *layoutFixture) []string {
			f.layout.Expires = time.Now().Add(-time.Hour).UTC().Format(intoto.ISO8601DateSchema)
			f.writeLayout(t)
			return nil
		}, "expired"},
		{"private key given as layout key", func(t *testing.T, f *layoutFixture) []string {
			return []string{filepath.Join(f.dir, "owner.key")}
		}, "PUBLIC"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newLayoutFixture(t)
			keys := c.mutate(t, f)
			if keys == nil {
				keys = []string{f.ownerPub}
			}
			_, err := VerifyLayout(f.layoutPath, keys, f.links)
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want error containing %q", err, c.want)
			}
		})
	}
}

// TestLayoutInspectionRefused: a layout whose inspection would create a
// file (proof of execution) is refused before verification, and the file
// never appears, even though the layout is validly signed.
func TestLayoutInspectionRefused(t *testing.T) {
	f := newLayoutFixture(t)
	marker := filepath.Join(f.dir, "PWNED")
	f.layout.Inspect = []intoto.Inspection{{Type: "inspection", Run: []string{"touch", marker},
		SupplyChainItem: intoto.SupplyChainItem{Name: "untar", ExpectedMaterials: [][]string{}, ExpectedProducts: [][]string{}}}}
	f.writeLayout(t)
	wd, _ := os.Getwd()
	_, err := VerifyLayout(f.layoutPath, []string{f.ownerPub}, f.links)
	if err == nil || !strings.Contains(err.Error(), "never executes what it verifies") || !strings.Contains(err.Error(), "touch") {
		t.Fatalf("got %v, want the inspection refusal naming the command", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the inspection command ran")
	}
	if _, err := os.Stat(filepath.Join(wd, "untar.link")); err == nil {
		t.Fatal("an inspection link was written: the inspection ran")
	}
	// Refused before signature checks: even with a wrong key the message
	// is about the inspection.
	_, _, other := testKey(t, f.dir, "other")
	if _, err := VerifyLayout(f.layoutPath, []string{other}, f.links); err == nil || !strings.Contains(err.Error(), "inspection") {
		t.Fatalf("got %v, want the inspection refusal first", err)
	}
}

func TestLayoutSublayoutRefused(t *testing.T) {
	f := newLayoutFixture(t)
	sub := intoto.Layout{Type: "layout", Expires: f.layout.Expires, Keys: map[string]intoto.Key{}, Steps: []intoto.Step{}, Inspect: []intoto.Inspection{}}
	mb := &intoto.Metablock{Signed: sub}
	if err := mb.Sign(f.packer); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(f.links, fmt.Sprintf(intoto.LinkNameFormat, "package", f.packer.KeyID)))
	mb.Dump(filepath.Join(f.links, fmt.Sprintf(intoto.LinkNameFormat, "package", f.packer.KeyID)))
	if _, err := VerifyLayout(f.layoutPath, []string{f.ownerPub}, f.links); err == nil || !strings.Contains(err.Error(), "sublayout") {
		t.Fatalf("got %v, want sublayout refusal", err)
	}
}

func TestLayoutCoversModel(t *testing.T) {
	f := newLayoutFixture(t)
	res, err := VerifyLayout(f.layoutPath, []string{f.ownerPub}, f.links)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		files map[string]Digest
		want  string
	}{
		{"model is the final products", map[string]Digest{"model.safetensors": {"sha256", hexA}, "config.json": {"sha256", hexB}}, ""},
		{"weights swapped after the pipeline", map[string]Digest{"model.safetensors": {"sha256", hexC}, "config.json": {"sha256", hexB}}, "model.safetensors is sha256:" + hexC},
		{"extra file not from the pipeline", map[string]Digest{"model.safetensors": {"sha256", hexA}, "config.json": {"sha256", hexB}, "extra.py": {"sha256", hexC}}, "not produced by the pipeline's last step: extra.py"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := res.CoversModel(Model{Files: c.files})
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

// TestVerifyLayoutDSSE: the same pipeline with the layout and links in
// DSSE envelopes (in-toto's newer metadata form).
func TestVerifyLayoutDSSE(t *testing.T) {
	f := newLayoutFixture(t)
	dump := func(key intoto.Key, payload any, path string) {
		t.Helper()
		env := &intoto.Envelope{}
		if err := env.SetPayload(payload); err != nil {
			t.Fatal(err)
		}
		if err := env.Sign(key); err != nil {
			t.Fatal(err)
		}
		if err := env.Dump(path); err != nil {
			t.Fatal(err)
		}
	}
	dump(f.owner, f.layout, f.layoutPath)
	for _, l := range []struct {
		key  intoto.Key
		step string
	}{{f.trainer, "train"}, {f.packer, "package"}} {
		p := filepath.Join(f.links, fmt.Sprintf(intoto.LinkNameFormat, l.step, l.key.KeyID))
		md, err := intoto.LoadMetadata(p)
		if err != nil {
			t.Fatal(err)
		}
		dump(l.key, md.GetPayload(), p)
	}
	if _, err := VerifyLayout(f.layoutPath, []string{f.ownerPub}, f.links); err != nil {
		t.Fatalf("DSSE pipeline refused: %v", err)
	}
	// A DSSE layout with inspections is refused like a Metablock one.
	f.layout.Inspect = []intoto.Inspection{{Type: "inspection", Run: []string{"sh", "-c", "id"}, SupplyChainItem: intoto.SupplyChainItem{Name: "i", ExpectedMaterials: [][]string{}, ExpectedProducts: [][]string{}}}}
	dump(f.owner, f.layout, f.layoutPath)
	if _, err := VerifyLayout(f.layoutPath, []string{f.ownerPub}, f.links); err == nil || !strings.Contains(err.Error(), "inspection") {
		t.Fatalf("got %v", err)
	}
}

// TestCoversModelAmbiguousProducts: a link naming one file twice
// ("model.safetensors" and "x/../model.safetensors") with different
// digests must be refused every time, not accepted when map iteration
// happens to reach the matching spelling first.
func TestCoversModelAmbiguousProducts(t *testing.T) {
	res := &LayoutResult{Products: map[string]map[string]string{
		"model.safetensors":      {"sha256": hexA},
		"x/../model.safetensors": {"sha256": hexC},
		"./model.safetensors":    {"sha256": hexA},
	}}
	m := Model{Files: map[string]Digest{"model.safetensors": {"sha256", hexA}}}
	for i := 0; i < 50; i++ {
		err := res.CoversModel(m)
		if err == nil || !strings.Contains(err.Error(), "sha256:"+hexC) {
			t.Fatalf("run %d: got %v, want the conflicting product reported", i, err)
		}
	}
}

// TestCoversModelStripPrefix: links recorded by a functionary that ran in
// the model's parent folder name "model/weights.bin". Without a prefix to
// strip the model is refused with the prefix suggested; with in-toto's
// lstrip it is accepted; a strip that merges two products is refused.
func TestCoversModelStripPrefix(t *testing.T) {
	products := func() *LayoutResult {
		return &LayoutResult{Products: map[string]map[string]string{
			"model/model.safetensors": {"sha256": hexA},
			"model/config.json":       {"sha256": hexB},
		}}
	}
	m := Model{Files: map[string]Digest{"model.safetensors": {"sha256", hexA}, "config.json": {"sha256", hexB}}}
	cases := []struct {
		name   string
		strip  []string
		extra  map[string]map[string]string
		want   string
		strErr string
	}{
		{"folder prefix, no strip: refused with a hint", nil, nil, "--strip-prefix model/", ""},
		{"strip the folder prefix", []string{"model/"}, nil, "", ""},
		{"first matching prefix wins", []string{"nothing/", "model/", "mod"}, nil, "", ""},
		{"wrong prefix", []string{"weights/"}, nil, "not produced by the pipeline's last step", ""},
		{"strip merges two products", []string{"model/", "other/"}, map[string]map[string]string{"other/config.json": {"sha256": hexC}}, "", `two of them name "config.json"`},
		{"prefixed product with another digest still refused", []string{"model/"}, map[string]map[string]string{"model/model.safetensors": {"sha256": hexC}}, "model.safetensors is sha256:" + hexA, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := products()
			for k, v := range c.extra {
				r.Products[k] = v
			}
			err := r.StripPrefixes(c.strip)
			if c.strErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.strErr) {
					t.Fatalf("strip: %v, want %q", err, c.strErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			err = r.CoversModel(m)
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

// TestLayoutAndLinksReadStrictly: layouts and links are read with the one
// strict reader before in-toto-golang sees them: a link whose products sit
// under "productſ" (Go's decoder would take them as "products", Python's
// in-toto would not) or that names a key twice is refused, naming it.
func TestLayoutAndLinksReadStrictly(t *testing.T) {
	cases := []struct {
		name, from, to, want string
	}{
		{"case-folded key in a link", `"products"`, `"productſ"`, `"productſ" ("product\u017f") differs from "products"`},
		{"duplicate key in a link", `"_type": "link"`, `"_type": "link", "_type": "link"`, `duplicate key "_type"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newLayoutFixture(t)
			p := filepath.Join(f.links, fmt.Sprintf(intoto.LinkNameFormat, "package", f.packer.KeyID))
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			edited := strings.Replace(string(data), c.from, c.to, 1)
			if edited == string(data) {
				t.Fatalf("%s not found in the link: %.200s", c.from, data)
			}
			os.WriteFile(p, []byte(edited), 0o644)
			if _, err := VerifyLayout(f.layoutPath, []string{f.ownerPub}, f.links); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}
