package codecgen

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tInt
	tFloat
	tPunct
	tString // "text", Go syntax; text holds the quoted form
	tChar   // 'c', Go syntax; text holds the quoted form
)

type tok struct {
	kind tokKind
	text string
	pos  Pos
	doc  string // comment lines directly above the tok
}

// lex splits src into tokens. Comments are "//" to end of line; the comment
// block directly above a tok (no blank line between) becomes its doc.
func lex(file string, src []byte) ([]tok, error) {
	var toks []tok
	line, col := 1, 1
	var doc []string
	lastCommentLine := -10
	lastTokLine := 0
	i := 0
	adv := func(n int) {
		for k := 0; k < n; k++ {
			if src[i] == '\n' {
				line++
				col = 1
			} else {
				col++
			}
			i++
		}
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			adv(1)
		case c == ' ' || c == '\t' || c == '\r':
			adv(1)
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			j := i
			for j < len(src) && src[j] != '\n' {
				j++
			}
			text := strings.TrimPrefix(string(src[i+2:j]), " ")
			if lastTokLine != line { // a trailing comment documents nothing
				if lastCommentLine != line-1 {
					doc = nil
				}
				doc = append(doc, text)
				lastCommentLine = line
			}
			adv(j - i)
		case c < utf8.RuneSelf && (unicode.IsLetter(rune(c)) || c == '_'):
			j := i
			for j < len(src) && src[j] < utf8.RuneSelf && (unicode.IsLetter(rune(src[j])) || unicode.IsDigit(rune(src[j])) || src[j] == '_') {
				j++
			}
			toks = append(toks, tok{kind: tIdent, text: string(src[i:j]), pos: Pos{file, line, col}, doc: docText(doc, lastCommentLine, line)})
			doc = nil
			lastTokLine = line
			adv(j - i)
		case c >= '0' && c <= '9':
			j := i
			kind := tInt
			for j < len(src) && (isAlnum(src[j]) || src[j] == '.') {
				if src[j] == '.' && j+1 < len(src) && src[j+1] == '.' {
					break // a range: 90..110
				}
				if src[j] == '.' {
					kind = tFloat
				}
				j++
			}
			toks = append(toks, tok{kind: kind, text: string(src[i:j]), pos: Pos{file, line, col}})
			doc = nil
			lastTokLine = line
			adv(j - i)
		case c == '.' && i+1 < len(src) && src[i+1] == '.':
			toks = append(toks, tok{kind: tPunct, text: "..", pos: Pos{file, line, col}})
			doc = nil
			lastTokLine = line
			adv(2)
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(src) && src[j] != c && src[j] != '\n' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) || src[j] != c {
				return nil, &Error{Pos: Pos{file, line, col}, Msg: "unterminated " + map[byte]string{'"': "string", '\'': "character"}[c] + " literal"}
			}
			text := string(src[i : j+1])
			kind := tString
			if c == '\'' {
				kind = tChar
				if r, _, tail, err := strconv.UnquoteChar(text[1:len(text)-1], '\''); err != nil || tail != "" || r >= utf8.RuneSelf {
					return nil, &Error{Pos: Pos{file, line, col}, Msg: fmt.Sprintf("invalid character literal %s (one ASCII character, Go syntax)", text)}
				}
			} else if _, err := strconv.Unquote(text); err != nil {
				return nil, &Error{Pos: Pos{file, line, col}, Msg: fmt.Sprintf("invalid string literal %s (Go syntax)", text)}
			}
			toks = append(toks, tok{kind: kind, text: text, pos: Pos{file, line, col}})
			doc = nil
			lastTokLine = line
			adv(j + 1 - i)
		case strings.IndexByte("{}[];=:-()", c) >= 0:
			toks = append(toks, tok{kind: tPunct, text: string(c), pos: Pos{file, line, col}, doc: docText(doc, lastCommentLine, line)})
			doc = nil
			lastTokLine = line
			adv(1)
		default:
			r, _ := utf8.DecodeRune(src[i:])
			if r >= utf8.RuneSelf && unicode.IsLetter(r) {
				return nil, &Error{Pos: Pos{file, line, col}, Msg: fmt.Sprintf("unexpected character %q: names must be ASCII (letters, digits and _), as they become Go identifiers and wire-compatible names in other languages", r)}
			}
			return nil, &Error{Pos: Pos{file, line, col}, Msg: fmt.Sprintf("unexpected character %q", r)}
		}
	}
	toks = append(toks, tok{kind: tEOF, pos: Pos{file, line, col}})
	return toks, nil
}

func docText(doc []string, lastCommentLine, line int) string {
	if len(doc) == 0 || lastCommentLine != line-1 {
		return ""
	}
	return strings.Join(doc, "\n")
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}
