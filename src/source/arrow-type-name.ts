/**
 * An Arrow type as pyarrow and `datasets` users read it (`string`, `int64`, `struct<bytes: binary,
 * path: string>`), for messages about a column of the wrong type. apache-arrow's own names
 * (`Utf8`, `Struct<{bytes:Binary, path:Utf8}>`) are the library's, not the user's.
 */
import { DataType, Type, type Field } from "apache-arrow";

const PRECISIONS = ["float16", "float32", "float64"];

export function arrowTypeName(type: DataType): string {
  const child = (field: Field | undefined) => (field ? arrowTypeName(field.type) : "?");
  switch (type.typeId) {
    case Type.Null:
      return "null";
    case Type.Bool:
      return "bool";
    case Type.Int: {
      const int = type as DataType<Type.Int> & { isSigned: boolean; bitWidth: number };
      return `${int.isSigned ? "int" : "uint"}${int.bitWidth}`;
    }
    case Type.Float:
      return PRECISIONS[(type as DataType<Type.Float> & { precision: number }).precision] ?? "float";
    case Type.Utf8:
      return "string";
    case Type.LargeUtf8:
      return "large_string";
    case Type.Utf8View:
      return "string_view";
    case Type.Binary:
      return "binary";
    case Type.LargeBinary:
      return "large_binary";
    case Type.BinaryView:
      return "binary_view";
    case Type.FixedSizeBinary:
      return `fixed_size_binary[${(type as DataType & { byteWidth: number }).byteWidth}]`;
    case Type.List:
      return `list<${child(type.children[0])}>`;
    case Type.LargeList:
      return `large_list<${child(type.children[0])}>`;
    case Type.FixedSizeList:
      return `fixed_size_list<${child(type.children[0])}>[${(type as DataType & { listSize: number }).listSize}]`;
    case Type.Struct:
      return `struct<${type.children.map((f) => `${f.name}: ${arrowTypeName(f.type)}`).join(", ")}>`;
    case Type.Dictionary:
      return `dictionary<values=${arrowTypeName((type as DataType & { dictionary: DataType }).dictionary)}>`;
    default:
      return String(type).toLowerCase();
  }
}
