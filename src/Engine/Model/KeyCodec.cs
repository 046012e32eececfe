using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Serverless.Engine.Model;

/*
 * Order-preserving key encoding. FROZEN: stored keys and partition hashes depend on every byte below.
 *
 * Storage key:  [tableNumber:u32 BE][partitionHash:u32 BE][component(hash)][component(range), if any]
 *   partitionHash = PartitionHash(component(hash)), so all items of one partition are contiguous and sorted by
 *   their range component; different partitions are spread by the hash.
 *
 * component(v) := typeTag:u8 (AttrType: S=0x01, N=0x02, B=0x03) payload
 *   S, B: the bytes (UTF-8 for S) with 0x00 escaped as 0x00 0xFF, then the terminator 0x00 0x01.
 *         Bytewise order of components == bytewise order of values; a value sorts before its extensions
 *         (terminator 00 01 < 00 FF (escaped zero) < any other byte), and the terminator makes components
 *         self-delimiting so concatenated (hash, range) keys compare component by component.
 *   N:    zero      := 0x02
 *         positive  := 0x03  E:u8  P*  0x01
 *         negative  := 0x01  ~E:u8 ~P* 0xFE
 *         E = adjusted exponent + 130 (0..255 for DynamoDB's range -130..125).
 *         P = the significant digits in pairs from the most significant, the last pair padded with a zero
 *             digit, each pair d as byte 0x02 + d (0x02..0x65); the terminator 0x01 sorts below any pair, so a
 *             shorter digit string (smaller magnitude) sorts first. For negatives every byte after the sign is
 *             complemented (~x = 0xFF - x), reversing the order, and the terminator becomes 0xFE.
 *
 * Partition hash: FNV-1a 64 over the component bytes (offset basis 0xcbf29ce484222325, prime 0x100000001b3),
 * folded to 32 bits as (uint)(h ^ (h >> 32)), then the MurmurHash3 fmix32 finaliser
 * (x ^= x >> 16; x *= 0x85ebca6b; x ^= x >> 13; x *= 0xc2b2ae35; x ^= x >> 16).
 */

/// <summary>Order-preserving storage keys; see the format comment at the top of this file.</summary>
public static class KeyCodec
{
    public const int HeaderLength = 8;

    private const byte PairBase = 0x02;
    private const byte PositiveTerminator = 0x01;
    private const byte NegativeTerminator = 0xFE;
    private const byte SignNegative = 0x01;
    private const byte SignZero = 0x02;
    private const byte SignPositive = 0x03;
    private const int ExponentBias = 130;
    private const int StackLimit = 512;

    /// <summary>Exact length of <see cref="EncodeComponent"/>'s output (terminated).</summary>
    public static int ComponentLength(AttrValue value)
    {
        switch (value.Type)
        {
            case AttrType.S:
                {
                    var s = value.S;
                    return 1 + Encoding.UTF8.GetByteCount(s) + s.AsSpan().Count('\0') + 2;
                }

            case AttrType.B:
                {
                    var b = value.B;
                    return 1 + b.Length + b.AsSpan().Count((byte)0) + 2;
                }

            case AttrType.N:
                {
                    Span<byte> ascii = stackalloc byte[CanonicalNumberText.MaxLength];
                    var n = CanonicalNumberText.ToAscii(value.N, ascii);
                    var num = CanonicalNumberText.Parse(ascii[..n]);
                    return num.IsZero ? 2 : 1 + 1 + 1 + ((num.DigitCount + 1) / 2) + 1;
                }

            default:
                throw new ArgumentException("Key values are S, N or B.", nameof(value));
        }
    }

    /// <summary>Exact length of the storage key for these values.</summary>
    public static int KeyLength(AttrValue hash, AttrValue? range) =>
        HeaderLength + ComponentLength(hash) + (range is null ? 0 : ComponentLength(range));

    public static byte[] EncodeKey(uint tableNumber, AttrValue hash, AttrValue? range)
    {
        var key = new byte[KeyLength(hash, range)];
        EncodeKey(tableNumber, hash, range, key);
        return key;
    }

    /// <summary>Writes the storage key into <paramref name="destination"/> (at least <see cref="KeyLength"/> bytes); returns its length.</summary>
    public static int EncodeKey(uint tableNumber, AttrValue hash, AttrValue? range, Span<byte> destination)
    {
        var pos = EncodePartitionPrefix(tableNumber, hash, destination);
        if (range is not null) pos += EncodeComponent(range, destination[pos..]);
        return pos;
    }

    /// <summary>
    /// Writes <c>[table][partitionHash][component(hash)]</c>: the prefix shared by every key of the partition, for
    /// range scans. Needs <see cref="HeaderLength"/> + <see cref="ComponentLength"/> bytes.
    /// </summary>
    public static int EncodePartitionPrefix(uint tableNumber, AttrValue hash, Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, tableNumber);
        var n = EncodeComponent(hash, destination[HeaderLength..]);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], PartitionHash(destination.Slice(HeaderLength, n)));
        return HeaderLength + n;
    }

    /// <summary>Writes the 4-byte table prefix shared by every key of a table.</summary>
    public static int EncodeTablePrefix(uint tableNumber, Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, tableNumber);
        return 4;
    }

    /// <summary>
    /// Encodes one key value. With <paramref name="terminated"/> false, an S or B value is written without its
    /// terminator: every component whose value starts with it starts with those bytes (for begins_with).
    /// </summary>
    public static int EncodeComponent(AttrValue value, Span<byte> destination, bool terminated = true)
    {
        switch (value.Type)
        {
            case AttrType.S:
                {
                    destination[0] = (byte)AttrType.S;
                    var s = value.S;
                    var n = Encoding.UTF8.GetBytes(s, destination[1..]);
                    var escapes = s.AsSpan().Count('\0');
                    return 1 + EscapeInPlace(destination[1..], n, escapes, terminated);
                }

            case AttrType.B:
                {
                    destination[0] = (byte)AttrType.B;
                    var b = value.B;
                    b.CopyTo(destination[1..]);
                    var escapes = b.AsSpan().Count((byte)0);
                    return 1 + EscapeInPlace(destination[1..], b.Length, escapes, terminated);
                }

            case AttrType.N:
                destination[0] = (byte)AttrType.N;
                return 1 + EncodeNumber(value.N, destination[1..]);
            default:
                throw new ArgumentException("Key values are S, N or B.", nameof(value));
        }
    }

    /// <summary>
    /// <see cref="EncodeComponent"/> of an S value given as UTF-8 bytes that contain no 0x00 (so nothing to escape):
    /// the key paths read these straight from the request JSON. Needs <paramref name="utf8"/>.Length + 3 bytes.
    /// </summary>
    public static int EncodeStringComponent(ReadOnlySpan<byte> utf8, Span<byte> destination)
    {
        destination[0] = (byte)AttrType.S;
        utf8.CopyTo(destination[1..]);
        destination[1 + utf8.Length] = 0x00;
        destination[2 + utf8.Length] = 0x01;
        return utf8.Length + 3;
    }

    /// <summary>
    /// The storage key of S key values given as UTF-8 bytes without 0x00 (<see cref="EncodeStringComponent"/>); no
    /// range value when <paramref name="hasRange"/> is false. Needs <see cref="HeaderLength"/> + both lengths + 6 bytes.
    /// </summary>
    public static int EncodeStringKey(uint tableNumber, ReadOnlySpan<byte> hash, bool hasRange, ReadOnlySpan<byte> range, Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, tableNumber);
        var n = EncodeStringComponent(hash, destination[HeaderLength..]);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], PartitionHash(destination.Slice(HeaderLength, n)));
        var pos = HeaderLength + n;
        if (hasRange) pos += EncodeStringComponent(range, destination[pos..]);
        return pos;
    }

    /// <summary>Partition hash of a key value (of its encoded component).</summary>
    public static uint PartitionHash(AttrValue hash)
    {
        var length = ComponentLength(hash);
        byte[]? rented = null;
        var buffer = length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            var n = EncodeComponent(hash, buffer);
            return PartitionHash(buffer[..n]);
        }
        finally
        {
            if (rented != null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The frozen 32-bit hash of an encoded hash-key component.</summary>
    public static uint PartitionHash(ReadOnlySpan<byte> encodedComponent)
    {
        var h = 0xcbf29ce484222325UL;
        foreach (var b in encodedComponent)
        {
            h ^= b;
            h *= 0x100000001b3UL;
        }

        var x = (uint)(h ^ (h >> 32));
        x ^= x >> 16;
        x *= 0x85ebca6bU;
        x ^= x >> 13;
        x *= 0xc2b2ae35U;
        x ^= x >> 16;
        return x;
    }

    public static void DecodeKey(ReadOnlySpan<byte> key, out uint tableNumber, out AttrValue hash, out AttrValue? range)
    {
        if (key.Length < HeaderLength + 1) throw Corrupt();
        tableNumber = BinaryPrimitives.ReadUInt32BigEndian(key);
        var pos = HeaderLength;
        hash = DecodeComponent(key, ref pos);
        range = pos < key.Length ? DecodeComponent(key, ref pos) : null;
        if (pos != key.Length) throw Corrupt();
    }

    /// <summary>Decodes one component starting at <paramref name="pos"/>, advancing past it.</summary>
    public static AttrValue DecodeComponent(ReadOnlySpan<byte> data, ref int pos)
    {
        if (pos >= data.Length) throw Corrupt();
        var tag = (AttrType)data[pos++];
        switch (tag)
        {
            case AttrType.S:
                {
                    var bytes = Unescape(data, ref pos);
                    return AttrValue.FromS(Encoding.UTF8.GetString(bytes));
                }

            case AttrType.B:
                return AttrValue.FromB(Unescape(data, ref pos));
            case AttrType.N:
                return AttrValue.FromCanonicalN(DecodeNumber(data, ref pos));
            default:
                throw Corrupt();
        }
    }

    /// <summary>Moves <paramref name="pos"/> past one encoded (terminated) component without decoding it.</summary>
    public static void SkipComponent(ReadOnlySpan<byte> data, ref int pos)
    {
        if (pos >= data.Length) throw Corrupt();
        var tag = (AttrType)data[pos++];
        switch (tag)
        {
            case AttrType.S:
            case AttrType.B:
                while (true)
                {
                    if (pos + 1 >= data.Length) throw Corrupt();
                    if (data[pos] != 0)
                    {
                        pos++;
                        continue;
                    }

                    pos += 2;
                    if (data[pos - 1] == 0x01) return;
                }

            case AttrType.N:
                {
                    if (pos >= data.Length) throw Corrupt();
                    var sign = data[pos++];
                    if (sign == SignZero) return;
                    var terminator = sign == SignNegative ? NegativeTerminator : PositiveTerminator;
                    pos++; // exponent
                    while (true)
                    {
                        if (pos >= data.Length) throw Corrupt();
                        if (data[pos++] == terminator) return;
                    }
                }

            default:
                throw Corrupt();
        }
    }

    private static InvalidDataException Corrupt() => new("Corrupt key encoding.");

    /// <summary>Escapes <paramref name="length"/> raw bytes at the start of <paramref name="span"/> in place, back to front.</summary>
    private static int EscapeInPlace(Span<byte> span, int length, int escapes, bool terminated)
    {
        var total = length + escapes;
        if (escapes > 0)
        {
            var j = total - 1;
            for (var i = length - 1; i >= 0; i--)
            {
                var b = span[i];
                if (b == 0)
                {
                    span[j--] = 0xFF;
                    span[j--] = 0x00;
                }
                else
                {
                    span[j--] = b;
                }
            }
        }

        if (!terminated) return total;
        span[total] = 0x00;
        span[total + 1] = 0x01;
        return total + 2;
    }

    private static byte[] Unescape(ReadOnlySpan<byte> data, ref int pos)
    {
        // First pass: find the terminator and the decoded length.
        var length = 0;
        var p = pos;
        while (true)
        {
            if (p >= data.Length) throw Corrupt();
            if (data[p] == 0)
            {
                if (p + 1 >= data.Length) throw Corrupt();
                if (data[p + 1] == 0x01) break;
                if (data[p + 1] != 0xFF) throw Corrupt();
                p += 2;
            }
            else
            {
                p++;
            }

            length++;
        }

        var result = new byte[length];
        var k = 0;
        for (var i = pos; i < p; i++)
        {
            result[k++] = data[i];
            if (data[i] == 0) i++;
        }

        pos = p + 2;
        return result;
    }

    private static int EncodeNumber(string canonical, Span<byte> destination)
    {
        Span<byte> ascii = stackalloc byte[CanonicalNumberText.MaxLength];
        var len = CanonicalNumberText.ToAscii(canonical, ascii);
        var num = CanonicalNumberText.Parse(ascii[..len]);
        if (num.IsZero)
        {
            destination[0] = SignZero;
            return 1;
        }

        Span<byte> digits = stackalloc byte[DynamoNumber.MaxDigits + 2];
        var count = num.CopyDigits(digits);
        var negative = num.Negative;
        var mask = negative ? (byte)0xFF : (byte)0x00;
        destination[0] = negative ? SignNegative : SignPositive;
        destination[1] = (byte)((num.AdjustedExponent + ExponentBias) ^ mask);
        var pos = 2;
        for (var i = 0; i < count; i += 2)
        {
            var hi = digits[i] - '0';
            var lo = i + 1 < count ? digits[i + 1] - '0' : 0;
            destination[pos++] = (byte)((PairBase + (hi * 10) + lo) ^ mask);
        }

        destination[pos++] = negative ? NegativeTerminator : PositiveTerminator;
        return pos;
    }

    private static string DecodeNumber(ReadOnlySpan<byte> data, ref int pos)
    {
        if (pos >= data.Length) throw Corrupt();
        var sign = data[pos++];
        if (sign == SignZero) return "0";
        if (sign is not (SignNegative or SignPositive)) throw Corrupt();
        var negative = sign == SignNegative;
        var mask = negative ? (byte)0xFF : (byte)0x00;
        var terminator = negative ? NegativeTerminator : PositiveTerminator;
        if (pos >= data.Length) throw Corrupt();
        var exponent = (data[pos++] ^ mask) - ExponentBias;
        Span<byte> digits = stackalloc byte[DynamoNumber.MaxDigits + 2];
        var count = 0;
        while (true)
        {
            if (pos >= data.Length) throw Corrupt();
            var b = data[pos++];
            if (b == terminator) break;
            var pair = (b ^ mask) - PairBase;
            if (pair is < 0 or > 99 || count + 2 > digits.Length) throw Corrupt();
            digits[count++] = (byte)('0' + (pair / 10));
            digits[count++] = (byte)('0' + (pair % 10));
        }

        if (count == 0) throw Corrupt();
        if (digits[count - 1] == '0') count--; // padding of an odd digit count
        return CanonicalNumberText.Format(negative, digits[..count], exponent);
    }
}
