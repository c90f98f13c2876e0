package spreadsheet_test

import (
	"bytes"
	"testing"

	"passerelle/internal/platform/spreadsheet"
)

func TestCSV(t *testing.T) {
	var b bytes.Buffer
	if err := spreadsheet.WriteCSV(&b, [][]string{{"Entreprise", "Message"}, {"=cmd|' /C calc'!A0", "-2+3"}, {"Société; \"Ô\"", "@SUM(1)"}}); err != nil {
		t.Fatal(err)
	}
	want := "\ufeffEntreprise;Message\r\n'=cmd|' /C calc'!A0;'-2+3\r\n\"Société; \"\"Ô\"\"\";'@SUM(1)\r\n"
	if b.String() != want {
		t.Fatalf("csv\n%q\nwant\n%q", b.String(), want)
	}
}
